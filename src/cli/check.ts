import { configJsonSchema, effectiveConfigYaml } from '../config/index.ts'

export async function runCheck(files: string[]): Promise<void> {
  process.stdout.write(await effectiveConfigYaml(files))
  process.stderr.write(`dynproxy: ${files.join(' + ')}: ok\n`)
}

export function runSchema(): void {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`)
}
