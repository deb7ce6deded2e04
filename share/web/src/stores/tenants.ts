// The store's tenants, for a super-admin (GET/POST /tenants,
// PATCH /tenants/{name}, POST /tenants/{name}/users).

import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api, enc } from '@/api/client'
import type { Role, Tenant, TenantRetention, User } from '@/api/types'

export const useTenants = defineStore('tenants', () => {
  const list = ref<Tenant[]>([])
  const loading = ref(false)
  const error = ref('')

  async function fetch(): Promise<void> {
    loading.value = true
    error.value = ''
    try {
      list.value = await api.get<Tenant[]>('/tenants')
    } catch (e) {
      error.value = (e as Error).message
      throw e
    } finally {
      loading.value = false
    }
  }

  function put(t: Tenant) {
    const i = list.value.findIndex((x) => x.name === t.name)
    if (i >= 0) list.value[i] = t
    else list.value = [...list.value, t].sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  async function create(name: string, r: TenantRetention): Promise<Tenant> {
    const t = await api.post<Tenant>('/tenants', { name, ...r })
    put(t)
    return t
  }

  async function update(name: string, r: TenantRetention): Promise<Tenant> {
    const t = await api.patch<Tenant>(`/tenants/${enc(name)}`, r)
    put(t)
    return t
  }

  async function addUser(tenant: string, username: string, password: string, role: Role): Promise<User> {
    return api.post<User>(`/tenants/${enc(tenant)}/users`, { username, password, role })
  }

  return { list, loading, error, fetch, create, update, addUser }
})
