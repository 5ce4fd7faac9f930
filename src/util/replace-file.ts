/**
 * Replacing a file whole, so that a reader, or a crash at any moment, finds the old file or the new
 * one: a temporary file beside it (named for this process, so that workers writing the same file
 * never share one), fsynced, renamed over the file, then the directory fsynced so that the rename
 * itself survives a power loss.
 */
import { open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Throws what the file system threw; the temporary file is removed then. */
export async function replaceFile(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    const handle = await open(tmp, 'w', mode)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  await syncDirectory(dirname(file))
}

/** Some platforms cannot open a directory: there the rename is as durable as it gets. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Directory fsync is unsupported here.
  } finally {
    await handle?.close()
  }
}
