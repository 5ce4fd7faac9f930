/**
 * The slice of the Reflect metadata API that `tsyringe` (the DI container inside `@peculiar/x509`)
 * calls while it loads: without it the import throws "tsyringe requires a reflect polyfill".
 * Import this module before `@peculiar/x509`. A full polyfill (`reflect-metadata`) already loaded
 * takes precedence; this one installs only when none is present.
 */
type MetadataMap = Map<unknown, unknown>

const store = new WeakMap<object, Map<PropertyKey | undefined, MetadataMap>>()

function own(target: object, property: PropertyKey | undefined, create: boolean): MetadataMap | undefined {
  let byProperty = store.get(target)
  if (!byProperty) {
    if (!create) return undefined
    byProperty = new Map()
    store.set(target, byProperty)
  }
  let map = byProperty.get(property)
  if (!map && create) {
    map = new Map()
    byProperty.set(property, map)
  }
  return map
}

function defineMetadata(key: unknown, value: unknown, target: object, property?: PropertyKey): void {
  own(target, property, true)?.set(key, value)
}

function getOwnMetadata(key: unknown, target: object, property?: PropertyKey): unknown {
  return own(target, property, false)?.get(key)
}

function getMetadata(key: unknown, target: object, property?: PropertyKey): unknown {
  for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t)) {
    const map = own(t, property, false)
    if (map?.has(key)) return map.get(key)
  }
  return undefined
}

if (!('getMetadata' in Reflect)) Object.assign(Reflect, { defineMetadata, getOwnMetadata, getMetadata })
