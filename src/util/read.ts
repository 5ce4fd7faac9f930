/** A parsed value, or the reason it could not be parsed (quoting the input, ready for a message). */
export type Read<T> = { readonly value: T } | { readonly error: string }
