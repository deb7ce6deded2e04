import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import RegisterForm from '@/components/RegisterForm.vue'
import { emptyRegisterForm, registerRequest, validateRegister } from '@/lib/validate'
import { flush, mockFetch } from './helpers'

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

const form = (over = {}) => ({ ...emptyRegisterForm(), device_path: '/dev/ttyUSB0', ...over })

describe('validateRegister', () => {
  it('takes a complete UART request and builds it as the contract has it', () => {
    expect(validateRegister(form({ baud_rate: '9600', timeout: '0.5', name: 'House' }))).toEqual({})
    expect(registerRequest(form({ baud_rate: '9600', timeout: '0.5', name: 'House' }))).toEqual({
      name: 'House', bms_type: 'daly_bms',
      connection_config: { protocol: 'uart', device_path: '/dev/ttyUSB0', baud_rate: 9600, timeout: 0.5 },
    })
  })

  it('wants a device path for uart, can and modbus', () => {
    for (const protocol of ['uart', 'can', 'modbus'])
      expect(validateRegister(form({ protocol, device_path: '' }))).toEqual({ 'connection_config.device_path': 'required for this protocol' })
  })

  it('wants a MAC address such as AA:BB:CC:DD:EE:FF for bluetooth', () => {
    expect(validateRegister(form({ protocol: 'bluetooth' }))).toEqual({ 'connection_config.mac_address': 'required for bluetooth' })
    expect(validateRegister(form({ protocol: 'bluetooth', mac_address: 'AA:BB:CC:DD:EE' }))).toEqual({
      'connection_config.mac_address': 'not a MAC address such as AA:BB:CC:DD:EE:FF',
    })
    expect(validateRegister(form({ protocol: 'bluetooth', mac_address: 'aa:bb:cc:dd:ee:0f' }))).toEqual({})
    expect(registerRequest(form({ protocol: 'bluetooth', mac_address: 'aa:bb:cc:dd:ee:0f' })).connection_config).toEqual({
      protocol: 'bluetooth', mac_address: 'aa:bb:cc:dd:ee:0f',
    })
  })

  it('holds baud rate, timeout, type and names to the API\'s ranges', () => {
    expect(validateRegister(form({ baud_rate: '4800' }))).toEqual({ 'connection_config.baud_rate': 'not one of 9600, 19200, 38400, 57600, 115200' })
    expect(validateRegister(form({ timeout: '0.09' }))).toEqual({ 'connection_config.timeout': 'not from 0.1 to 10 (seconds)' })
    expect(validateRegister(form({ timeout: '10' }))).toEqual({})
    expect(validateRegister(form({ timeout: '10.5' }))).toEqual({ 'connection_config.timeout': 'not from 0.1 to 10 (seconds)' })
    expect(validateRegister(form({ timeout: 'soon' }))).toEqual({ 'connection_config.timeout': 'not a number' })
    expect(validateRegister(form({ bms_type: 'jk_bms' }))).toEqual({ bms_type: 'not one of daly_bms, foxbms, libre_solar, green_bms' })
    expect(validateRegister(form({ bms_id: 'x'.repeat(128) }))).toEqual({ bms_id: 'a string of 1 to 127 bytes' })
    expect(validateRegister(form({ bms_id: 'é'.repeat(64) }))).toEqual({ bms_id: 'a string of 1 to 127 bytes' })
    expect(validateRegister(form({ bms_id: 'a\tb' }))).toEqual({ bms_id: 'control character' })
    expect(validateRegister(form({ device_path: '/dev/' }))).toEqual({})
    expect(validateRegister(form({ device_path: 'x'.repeat(256) }))).toEqual({ 'connection_config.device_path': 'a string of 1 to 255 bytes' })
  })
})

describe('RegisterForm', () => {
  it('shows each fault on its field and sends nothing', async () => {
    const calls = mockFetch(() => ({ status: 500 }))
    const w = mount(RegisterForm, { attachTo: document.body })
    await w.get('[data-testid=register-device_path]').setValue('')
    await w.get('[data-testid=register-timeout]').setValue('11')
    await w.get('[data-testid=register-form]').trigger('submit')
    expect(w.get('[data-testid=register-error-device_path]').text()).toBe('required for this protocol')
    expect(w.get('[data-testid=register-error-timeout]').text()).toBe('not from 0.1 to 10 (seconds)')
    expect(w.find('[data-testid=register-error-baud_rate]').exists()).toBe(false)
    expect(w.get('[data-testid=register-device_path]').attributes('aria-invalid')).toBe('true')
    expect(calls).toHaveLength(0)
    w.unmount()
  })

  it('asks for the MAC address for bluetooth', async () => {
    mockFetch(() => ({ status: 500 }))
    const w = mount(RegisterForm)
    await w.get('[data-testid=register-protocol]').setValue('bluetooth')
    expect(w.find('[data-testid=register-device_path]').exists()).toBe(false)
    await w.get('[data-testid=register-mac_address]').setValue('AA:BB')
    await w.get('[data-testid=register-mac_address]').trigger('blur')
    expect(w.get('[data-testid=register-error-mac_address]').text()).toBe('not a MAC address such as AA:BB:CC:DD:EE:FF')
  })

  it('puts the server\'s 400 on the field it names', async () => {
    const calls = mockFetch(() => ({
      status: 400,
      body: { error: 'bad_request', message: 'bms_id: control character at byte 3', details: { field: 'bms_id' } },
    }))
    const w = mount(RegisterForm)
    await w.get('[data-testid=register-device_path]').setValue('/dev/ttyUSB0')
    await w.get('[data-testid=register-bms_id]').setValue('van')
    await w.get('[data-testid=register-form]').trigger('submit')
    await flush()
    expect(calls[0]).toMatchObject({
      method: 'POST', url: '/api/v1/bms/connect',
      body: { bms_id: 'van', bms_type: 'daly_bms', connection_config: { protocol: 'uart', device_path: '/dev/ttyUSB0' } },
    })
    expect(w.get('[data-testid=register-error-bms_id]').text()).toBe('control character at byte 3')
    await w.get('[data-testid=register-bms_id]').setValue('van2')
    expect(w.find('[data-testid=register-error-bms_id]').exists()).toBe(false)
  })

  it('says a battery registered already on its id', async () => {
    mockFetch(() => ({ status: 409, body: { error: 'conflict', message: 'registered already', details: { field: 'bms_id' } } }))
    const w = mount(RegisterForm)
    await w.get('[data-testid=register-device_path]').setValue('/dev/ttyUSB0')
    await w.get('[data-testid=register-form]').trigger('submit')
    await flush()
    expect(w.get('[data-testid=register-error-bms_id]').text()).toBe('this battery is registered already')
  })
})
