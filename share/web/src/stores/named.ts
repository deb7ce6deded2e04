// A list of things named by a unique "name" (users, tenants), as a store
// keeps it: fetched whole, and each thing the API answers for a change
// put in its place, in order of name.

import { ref, shallowRef } from 'vue'
import { api } from '@/api/client'

export function namedList<T extends { name: string }>(path: string) {
  const list = shallowRef<T[]>([])
  const loading = ref(false)
  const error = ref('')

  async function fetch(): Promise<void> {
    loading.value = true
    error.value = ''
    try {
      list.value = await api.get<T[]>(path)
    } catch (e) {
      error.value = (e as Error).message
      throw e
    } finally {
      loading.value = false
    }
  }

  function put(x: T): T {
    const others = list.value.filter((y) => y.name !== x.name)
    list.value = [...others, x].sort((a, b) => (a.name < b.name ? -1 : 1))
    return x
  }

  return { list, loading, error, fetch, put }
}
