// Pages and who may see them.  A page's meta.role is the least role it
// needs ('super-admin' for the tenants); the guard sends a visitor who is
// not signed in to the sign-in page (and back after), and one whose role
// is too low to the forbidden page, so a viewer never sees admin pages.

import { createRouter, createWebHistory, type RouteLocationNormalized, type Router } from 'vue-router'
import type { Role } from '@/api/types'
import { useAuth } from '@/stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    role?: Role
    /** a page of a tenant's batteries, which a super-admin has none of */
    tenant?: boolean
    title?: string
  }
}

export const routes = [
  { path: '/sign-in', name: 'signin', component: () => import('@/views/SignIn.vue'), meta: { public: true, title: 'Sign in' } },
  { path: '/', name: 'fleet', component: () => import('@/views/Fleet.vue'), meta: { role: 'viewer' as Role, tenant: true, title: 'Fleet' } },
  { path: '/battery/:id', name: 'battery', component: () => import('@/views/BatteryDetail.vue'), props: true, meta: { role: 'viewer' as Role, tenant: true, title: 'Battery' } },
  { path: '/alerts', name: 'alerts', component: () => import('@/views/Alerts.vue'), meta: { role: 'viewer' as Role, tenant: true, title: 'Alerts' } },
  { path: '/batteries', name: 'batteries', component: () => import('@/views/Batteries.vue'), meta: { role: 'operator' as Role, tenant: true, title: 'Batteries' } },
  { path: '/users', name: 'users', component: () => import('@/views/Users.vue'), meta: { role: 'admin' as Role, tenant: true, title: 'Users' } },
  { path: '/tenants', name: 'tenants', component: () => import('@/views/Tenants.vue'), meta: { role: 'super-admin' as Role, title: 'Tenants' } },
  { path: '/account', name: 'account', component: () => import('@/views/Account.vue'), meta: { title: 'Your account' } },
  { path: '/forbidden', name: 'forbidden', component: () => import('@/views/Forbidden.vue'), meta: { title: 'Not allowed' } },
  { path: '/:rest(.*)*', name: 'notfound', component: () => import('@/views/NotFound.vue'), meta: { public: true, title: 'Not found' } },
]

/** Where a user goes first: the fleet, or the tenants for a super-admin. */
export function homeFor(auth: ReturnType<typeof useAuth>): string {
  return auth.isSuperAdmin ? '/tenants' : '/'
}

export async function guard(to: RouteLocationNormalized) {
  const auth = useAuth()
  if (!auth.ready) await auth.restore()
  if (to.meta.public) {
    if (to.name === 'signin' && auth.signedIn) return homeFor(auth)
    return true
  }
  if (!auth.signedIn) return { name: 'signin', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (to.meta.tenant && auth.isSuperAdmin) return to.name === 'fleet' ? '/tenants' : { name: 'forbidden' }
  if (to.meta.role && !auth.can(to.meta.role)) return { name: 'forbidden', query: { from: to.fullPath } }
  return true
}

export function makeRouter(): Router {
  const router = createRouter({
    history: createWebHistory('/'),
    routes,
    scrollBehavior: () => ({ top: 0 }),
  })
  router.beforeEach(guard)
  // A page's script that no longer loads (the dashboard was rebuilt
  // under an open page): load the page anew, once.
  router.onError((err, to) => {
    if (/dynamically imported module|Importing a module script failed/i.test(String(err)) &&
        sessionStorage.getItem('bms-reloaded') !== to.fullPath) {
      sessionStorage.setItem('bms-reloaded', to.fullPath)
      window.location.assign(to.fullPath)
    }
  })
  router.afterEach(() => sessionStorage.removeItem('bms-reloaded'))
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · TrackingBMS` : 'TrackingBMS'
  })
  return router
}
