// The register form's checks, the same as bms-serve makes them
// (lib/contract.c): field paths as the API names them in details.field,
// and the API's own words, so a message reads the same whether the
// browser or the server found the fault.

import type { BMSConnectionRequest } from '@/api/types'

export const BMS_TYPES = ['daly_bms', 'foxbms', 'libre_solar', 'green_bms'] as const
export const PROTOCOLS = ['uart', 'bluetooth', 'can', 'modbus'] as const
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200] as const

export const bmsTypeWords: Record<string, string> = {
  daly_bms: 'Daly BMS',
  foxbms: 'foxBMS',
  libre_solar: 'Libre Solar',
  green_bms: 'Green BMS',
}

export const protocolWords: Record<string, string> = {
  uart: 'UART (serial, RS485)',
  bluetooth: 'Bluetooth LE',
  can: 'CAN',
  modbus: 'Modbus',
}

/** The form as typed: every field a string, empty when left blank. */
export interface RegisterForm {
  bms_id: string
  name: string
  bms_type: string
  protocol: string
  device_path: string
  mac_address: string
  baud_rate: string
  timeout: string
}

export function emptyRegisterForm(): RegisterForm {
  return {
    bms_id: '', name: '', bms_type: 'daly_bms', protocol: 'uart',
    device_path: '', mac_address: '', baud_rate: '', timeout: '',
  }
}

export type FieldErrors = Record<string, string>

const utf8 = new TextEncoder()
const bytes = (s: string) => utf8.encode(s).length
const MAC = /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/
// C0, DEL and C1 controls, as bms_record_name_check refuses them
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** The device's last path segment, as the API names a battery by default. */
export function defaultBmsId(f: RegisterForm): string {
  const d = f.protocol === 'bluetooth' ? f.mac_address : f.device_path
  const slash = d.lastIndexOf('/')
  return slash >= 0 && slash < d.length - 1 ? d.slice(slash + 1) : d
}

/** Every fault of the form, by the API's field path; empty when the
 * form would be taken. */
export function validateRegister(f: RegisterForm): FieldErrors {
  const e: FieldErrors = {}
  if (f.bms_id !== '') {
    if (bytes(f.bms_id) > 127) e.bms_id = 'a string of 1 to 127 bytes'
    else if (CONTROL.test(f.bms_id)) e.bms_id = 'control character'
  }
  if (bytes(f.name) > 127) e.name = 'a string of 0 to 127 bytes'
  if (f.bms_type === '') e.bms_type = 'required'
  else if (!(BMS_TYPES as readonly string[]).includes(f.bms_type))
    e.bms_type = `not one of ${BMS_TYPES.join(', ')}`
  const bt = f.protocol === 'bluetooth'
  if (f.protocol === '') e['connection_config.protocol'] = 'required'
  else if (!(PROTOCOLS as readonly string[]).includes(f.protocol))
    e['connection_config.protocol'] = `not one of ${PROTOCOLS.join(', ')}`
  else if (bt) {
    if (f.mac_address === '') e['connection_config.mac_address'] = 'required for bluetooth'
    else if (!MAC.test(f.mac_address))
      e['connection_config.mac_address'] = 'not a MAC address such as AA:BB:CC:DD:EE:FF'
  } else {
    if (f.device_path === '') e['connection_config.device_path'] = 'required for this protocol'
    else if (bytes(f.device_path) > 255) e['connection_config.device_path'] = 'a string of 1 to 255 bytes'
  }
  if (f.baud_rate !== '' && !(BAUD_RATES as readonly number[]).includes(Number(f.baud_rate)))
    e['connection_config.baud_rate'] = 'not one of 9600, 19200, 38400, 57600, 115200'
  if (f.timeout.trim() !== '') {
    const t = Number(f.timeout)
    if (!Number.isFinite(t)) e['connection_config.timeout'] = 'not a number'
    else if (t < 0.1 || t > 10) e['connection_config.timeout'] = 'not from 0.1 to 10 (seconds)'
  }
  if (f.bms_id === '' && !e['connection_config.device_path'] && !e['connection_config.mac_address']) {
    const d = defaultBmsId(f)
    if (d === '' || CONTROL.test(d) || bytes(d) > 127)
      e.bms_id = "required: the device's name cannot name the battery"
  }
  return e
}

/** The request the form stands for (call after validateRegister found
 * nothing): blank optional fields left out, only the device member the
 * protocol wants. */
export function registerRequest(f: RegisterForm): BMSConnectionRequest {
  const bt = f.protocol === 'bluetooth'
  const req: BMSConnectionRequest = {
    bms_type: f.bms_type as BMSConnectionRequest['bms_type'],
    connection_config: {
      protocol: f.protocol as BMSConnectionRequest['connection_config']['protocol'],
      ...(bt ? { mac_address: f.mac_address } : { device_path: f.device_path }),
    },
  }
  if (f.bms_id !== '') req.bms_id = f.bms_id
  if (f.name !== '') req.name = f.name
  if (f.baud_rate !== '') req.connection_config.baud_rate = Number(f.baud_rate)
  if (f.timeout.trim() !== '') req.connection_config.timeout = Number(f.timeout)
  return req
}
