// The tenant's users, for its admins (GET/POST /users, PATCH /users/{name}).

import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, enc } from '@/api/client'
import type { Role, User } from '@/api/types'

export const USERNAME = /^[a-z0-9][a-z0-9_-]{0,62}$/

export const useUsers = defineStore('users', () => {
  const list = ref<User[]>([])
  const loading = ref(false)
  const error = ref('')

  async function fetch(): Promise<void> {
    loading.value = true
    error.value = ''
    try {
      list.value = await api.get<User[]>('/users')
    } catch (e) {
      error.value = (e as Error).message
      throw e
    } finally {
      loading.value = false
    }
  }

  function put(u: User) {
    const i = list.value.findIndex((x) => x.name === u.name)
    if (i >= 0) list.value[i] = u
    else list.value = [...list.value, u].sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  async function create(username: string, password: string, role: Role): Promise<User> {
    const u = await api.post<User>('/users', { username, password, role })
    put(u)
    return u
  }

  async function update(name: string, change: { role?: Role; disabled?: boolean; password?: string }): Promise<User> {
    const u = await api.patch<User>(`/users/${enc(name)}`, change)
    put(u)
    return u
  }

  return { list, loading, error, fetch, create, update }
})
