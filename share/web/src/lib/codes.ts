// Fault and warning codes (bms-decode(1)) and protection flags in words.

const words: Record<string, string> = {
  cell_voltage_high: 'Cell voltage high',
  cell_voltage_low: 'Cell voltage low',
  pack_voltage_high: 'Pack voltage high',
  pack_voltage_low: 'Pack voltage low',
  charge_temp_high: 'Too warm to charge',
  charge_temp_low: 'Too cold to charge',
  discharge_temp_high: 'Too warm to discharge',
  discharge_temp_low: 'Too cold to discharge',
  charge_overcurrent: 'Charge current too high',
  discharge_overcurrent: 'Discharge current too high',
  soc_high: 'State of charge high',
  soc_low: 'State of charge low',
  cell_voltage_diff: 'Cell voltages too far apart',
  temp_diff: 'Temperatures too far apart',
  charge_mos_overtemp: 'Charge MOSFET overheated',
  discharge_mos_overtemp: 'Discharge MOSFET overheated',
  charge_mos_temp_sensor: 'Charge MOSFET temperature sensor failed',
  discharge_mos_temp_sensor: 'Discharge MOSFET temperature sensor failed',
  charge_mos_stuck: 'Charge MOSFET stuck closed',
  discharge_mos_stuck: 'Discharge MOSFET stuck closed',
  charge_mos_open: 'Charge MOSFET open circuit',
  discharge_mos_open: 'Discharge MOSFET open circuit',
  afe_error: 'Measurement chip (AFE) error',
  cell_sense_lost: 'A cell sense wire is lost',
  temp_sensor_error: 'Cell temperature sensor error',
  eeprom_error: 'EEPROM error',
  rtc_error: 'Clock (RTC) error',
  precharge_failed: 'Precharge failed',
  comm_error: 'Communication failure',
  internal_comm_error: 'Internal communication failure',
  current_sensor_error: 'Current sensor fault',
  pack_voltage_sense_error: 'Pack voltage sensing fault',
  short_circuit: 'Short-circuit protection',
  low_voltage_no_charge: 'Voltage too low: charging forbidden',
}

/** A code in words: known names from the table, "Fault 12" for
 * fault_code_12, "Temperature probe 2 failed" for temperature_sensor_2_fault,
 * anything else with its underscores turned to spaces. */
export function codeWords(code: string): string {
  if (words[code]) return words[code]
  let m = /^fault_code_(\d+)$/.exec(code)
  if (m) return `Fault number ${m[1]}`
  m = /^temperature_sensor_(\d+)_fault$/.exec(code)
  if (m) return `Temperature probe ${m[1]} failed`
  const t = code.replace(/_/g, ' ')
  return t.charAt(0).toUpperCase() + t.slice(1)
}

export const protectionWords: Record<string, string> = {
  overvoltage: 'Overvoltage',
  undervoltage: 'Undervoltage',
  overcurrent_charge: 'Charge overcurrent',
  overcurrent_discharge: 'Discharge overcurrent',
  overtemperature: 'Over-temperature',
  undertemperature: 'Under-temperature',
}

export const anomalyWords: Record<string, string> = {
  cell_deviation: 'Cell leaving the pack',
  voltage_jump: 'Voltage jump',
  temperature_jump: 'Temperature jump',
  temperature_rise: 'Fast temperature rise',
  sensor_stuck: 'Sensor stuck',
}
