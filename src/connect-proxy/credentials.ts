/**
 * Checks a client's name and password against a listener's `users`. Every user is compared,
 * and each comparison hashes both sides to one length first, so the time taken says nothing
 * about which user, or how much of a password, matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { ListenerUser } from '../config/types.ts'
import type { Credentials } from './destination.ts'

export function credentialsValid(users: readonly ListenerUser[], given: Credentials): boolean {
  let valid = false
  for (const user of users) {
    const name = sameText(user.name, given.name)
    const password = sameText(user.password, given.password)
    valid = (name && password) || valid
  }
  return valid
}

function sameText(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given))
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
