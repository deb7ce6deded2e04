// Dark (the default) or light, remembered in localStorage: a preference,
// not a secret, and the same for every tab.

import { defineStore } from 'pinia'
import { ref } from 'vue'

export type Theme = 'dark' | 'light'
export const THEME_KEY = 'trackingbms.theme'

export function storedTheme(): Theme {
  try {
    return window.localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark'
  } catch {
    return 'dark'
  }
}

export function applyTheme(t: Theme): void {
  const el = document.documentElement
  el.classList.toggle('light', t === 'light')
  el.classList.toggle('dark', t === 'dark')
}

export const useTheme = defineStore('theme', () => {
  const theme = ref<Theme>(storedTheme())
  /** bumped on every change, for charts that read colours once */
  const version = ref(0)

  function set(t: Theme) {
    theme.value = t
    applyTheme(t)
    version.value++
    try {
      window.localStorage.setItem(THEME_KEY, t)
    } catch {
      /* not remembered */
    }
  }

  function toggle() {
    set(theme.value === 'dark' ? 'light' : 'dark')
  }

  applyTheme(theme.value)
  return { theme, version, set, toggle }
})

/** The value of a CSS variable of the theme in force. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim()
}
