import { createApp, watch } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { makeRouter } from './router'
import { useAuth } from './stores/auth'
import { useTheme } from './stores/theme'
import './style.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
useTheme()
const router = makeRouter()
app.use(router)

// A session that ends (sign-out, a refused refresh, a disabled account)
// leaves the page for the sign-in form.
const auth = useAuth()
watch(
  () => auth.signedIn,
  (now, before) => {
    const r = router.currentRoute.value
    if (before && !now && !r.meta.public) {
      void router.replace({ name: 'signin', query: r.fullPath !== '/' ? { next: r.fullPath } : {} })
    }
  },
)

app.mount('#app')
