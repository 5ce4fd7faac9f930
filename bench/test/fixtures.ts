import type { Settings } from '../context.ts'
import type { MachineInfo } from '../report/machine.ts'

export const settingsFixture: Settings = {
  quick: false,
  rounds: 3,
  durationS: 5,
  httpWarmupS: 1,
  iperfOmitS: 1,
  idleConnections: 10_000,
}

export const machineFixture: MachineInfo = {
  cores: 2,
  cpu: 'Test CPU',
  memoryGiB: 8,
  kernel: 'Linux 6.1',
  runtime: 'Bun 1.4.4',
  tools: { haproxy: '2.6.12', nginx: '1.22.1', iperf3: '3.12', wrk: '4.1.0' },
}
