// The shapes of bms-serve's API (share/openapi.json) and of its live
// messages (lib/live.h) that the dashboard reads.

/** A user's role in its tenant, or super-admin: one of the store's
 * super-admins, of no tenant, who manages the tenants. */
export type Role = 'viewer' | 'operator' | 'admin' | 'super-admin'

export interface ApiErrorBody {
  error: string
  message: string
  details?: { field: string }
}

export interface HealthResponse {
  status: 'healthy' | 'degraded' | 'unhealthy'
  timestamp: string
  version: string
  connected_devices: number
}

export interface TokenUser {
  name: string
  tenant: string | null
  role: Role
}

export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  /** none for a super-admin */
  refresh_token?: string
  user: TokenUser
}

export interface Me {
  name: string
  tenant: string | null
  role: Role
  expires_at: string
}

export type LinkState = 'connected' | 'disconnected' | 'error' | 'testing'

export interface StoredConnectionConfig {
  protocol: string | null
  device_path?: string | null
  mac_address?: string | null
  baud_rate?: number
  timeout?: number
}

export interface BMSConnection {
  id: string
  bms_id: string
  name: string | null
  bms_type: string | null
  connection_config: StoredConnectionConfig
  status: LinkState
  last_data_received: string | null
  connection_quality: number | null
  created_at: string
}

export interface ConnectionConfig {
  protocol: 'uart' | 'bluetooth' | 'can' | 'modbus'
  device_path?: string
  mac_address?: string
  baud_rate?: number
  timeout?: number
}

export interface BMSConnectionRequest {
  bms_id?: string
  name?: string
  bms_type: 'daly_bms' | 'foxbms' | 'libre_solar' | 'green_bms'
  connection_config: ConnectionConfig
}

export interface BatteryUpdate {
  name?: string
  chemistry?: string
  nominal_capacity_ah?: number
  cell_count?: number
  notes?: string
}

export interface Finding {
  code: string
  severity: 'info' | 'warning' | 'error'
  message: string
}

export interface ProtectionStatus {
  overvoltage?: boolean
  undervoltage?: boolean
  overcurrent_charge?: boolean
  overcurrent_discharge?: boolean
  overtemperature?: boolean
  undertemperature?: boolean
}

export interface BMSRealtimeData {
  bms_id: string
  timestamp: string
  proto?: string
  pack_voltage?: number
  pack_current?: number
  pack_power?: number
  soc_percent?: number
  soh_percent?: number
  temperatures?: number[]
  cell_voltages?: number[]
  balancing_status?: { active?: boolean; cells_balancing?: number[] }
  protection_status?: ProtectionStatus
  fault_codes?: string[]
  warning_codes?: string[]
  cycles?: number
  remaining_capacity_ah?: number
  nominal_capacity_ah?: number
  charge_mos?: boolean
  discharge_mos?: boolean
  cell_count?: number
  temp_count?: number
  quality?: 'good' | 'suspect' | 'bad'
  findings?: Finding[]
}

export interface LinkStatus {
  bms_id: string
  timestamp: string
  state: LinkState
  reason: string
  quality: number
  message?: string
}

export type AlertState = 'raised' | 'escalated' | 'repeated' | 'cleared' | 'notify_failed'
export type Severity = 'info' | 'warning' | 'critical'

export interface Alert {
  type: 'alert'
  bms_id: string
  timestamp: string
  tenant?: string
  alert_id: string
  rule: string
  state: AlertState
  event?: string
  error?: string
  severity: Severity
  since: string
  count: number
  value?: number
  threshold?: number
  acknowledged?: boolean
  message: string
  id: number
  ack_by?: string
  ack_at?: string
}

export interface AlertAck {
  id: number
  ack_by: string
  ack_at: string
}

export interface User {
  name: string
  role: Role
  disabled: boolean
  created: string
}

export interface Stats {
  min: number
  max: number
  mean: number
  last: number
}

export interface AggregatePoint {
  type: 'aggregate'
  bms_id: string
  timestamp: string
  period: string
  n: number
  pack_voltage?: Stats
  pack_current?: Stats
  pack_power?: Stats
  soc_percent?: Stats
  cell_voltage_min?: Stats
  cell_voltage_max?: Stats
  temperature_min?: Stats
  temperature_max?: Stats
}

export interface History {
  bms_id: string
  tier: 'raw' | 'minute' | 'hour'
  truncated: boolean
  points: Array<Record<string, unknown>>
}

export interface HealthRecord {
  bms_id: string
  timestamp: string
  readings: number
  since?: string
  observed_s: number
  gaps: number
  gap_s: number
  charge_in_ah?: number
  charge_out_ah?: number
  energy_in_wh?: number
  energy_out_wh?: number
  nominal_ah?: number
  equivalent_cycles?: number
  efficiency_cycles: number
  round_trip_efficiency?: number
  capacity_runs: number
  capacity_refused: number
  capacity_refused_reason?: string
  capacity_ah?: number
  capacity_kind?: string
  capacity_at?: string
  soh_percent?: number
  resistance_steps: number
  resistance_mohm?: number
  cell_count?: number
  weakest_cell?: number
  weakest_basis?: string
  weakest_deviation_mv?: number
  weakest_trend_mv_per_day?: number
  weakest_trend_confidence?: number
  drift_points?: number
  cell_deviation_mv?: number[]
}

export interface Anomaly {
  bms_id: string
  timestamp: string
  code: string
  state: 'start' | 'end' | 'event'
  cell?: number
  probe?: number
  value: number
  score: number
  threshold: number
  since?: string
  message: string
}

export interface Analytics {
  bms_id: string
  health: HealthRecord | null
  anomalies: Anomaly[]
}

/** Retention in days, 0: forever. */
export interface Tenant {
  name: string
  created: string
  raw_days: number
  minute_days: number
  hour_days: number
}

export interface TenantRetention {
  raw_days?: number
  minute_days?: number
  hour_days?: number
}

/* Live messages (lib/live.h). */
export type LiveIn =
  | { type: 'hello'; user: string; tenant: string; role: Role; expires_at: string }
  | { type: 'subscribed'; all: boolean; batteries: string[] }
  | { type: 'reading'; bms_id: string; data: BMSRealtimeData }
  | { type: 'status'; bms_id: string; data: LinkStatus }
  | { type: 'alert'; bms_id: string; data: Alert }
  | { type: 'error'; error: string; message: string; details?: { field: string } }
  | { type: 'pong' }
