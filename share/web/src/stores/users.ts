// The tenant's users, for its admins (GET/POST /users, PATCH /users/{name}).

import { defineStore } from 'pinia'
import { api, enc } from '@/api/client'
import { namedList } from './named'
import type { Role, User } from '@/api/types'

export const USERNAME = /^[a-z0-9][a-z0-9_-]{0,62}$/

export const useUsers = defineStore('users', () => {
  const { list, loading, error, fetch, put } = namedList<User>('/users')

  async function create(username: string, password: string, role: Role): Promise<User> {
    return put(await api.post<User>('/users', { username, password, role }))
  }

  async function update(name: string, change: { role?: Role; disabled?: boolean; password?: string }): Promise<User> {
    return put(await api.patch<User>(`/users/${enc(name)}`, change))
  }

  return { list, loading, error, fetch, create, update }
})
