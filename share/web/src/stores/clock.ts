// One clock for every age on the page, ticking once a second, so forty
// cards do not each keep a timer.

import { defineStore } from 'pinia'
import { ref } from 'vue'

export const useClock = defineStore('clock', () => {
  const now = ref(Date.now())
  let timer: ReturnType<typeof setInterval> | null = null
  let users = 0

  function tick() {
    now.value = Date.now()
  }

  /** Keep ticking while at least one user holds it. */
  function hold(): () => void {
    users++
    if (timer === null) {
      tick()
      timer = setInterval(tick, 1000)
    }
    let held = true
    return () => {
      if (!held) return
      held = false
      if (--users === 0 && timer !== null) {
        clearInterval(timer)
        timer = null
      }
    }
  }

  return { now, tick, hold }
})
