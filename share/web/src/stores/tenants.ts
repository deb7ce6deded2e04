// The store's tenants, for a super-admin (GET/POST /tenants,
// PATCH /tenants/{name}, POST /tenants/{name}/users).

import { defineStore } from 'pinia'
import { api, enc } from '@/api/client'
import { namedList } from './named'
import type { Role, Tenant, TenantRetention, User } from '@/api/types'

export const useTenants = defineStore('tenants', () => {
  const { list, loading, error, fetch, put } = namedList<Tenant>('/tenants')

  async function create(name: string, r: TenantRetention): Promise<Tenant> {
    return put(await api.post<Tenant>('/tenants', { name, ...r }))
  }

  async function update(name: string, r: TenantRetention): Promise<Tenant> {
    return put(await api.patch<Tenant>(`/tenants/${enc(name)}`, r))
  }

  async function addUser(tenant: string, username: string, password: string, role: Role): Promise<User> {
    return api.post<User>(`/tenants/${enc(tenant)}/users`, { username, password, role })
  }

  return { list, loading, error, fetch, create, update, addUser }
})
