/** The token field every console page has: paste a viewer or operator token; it stays for this tab. */
import { useState } from 'preact/hooks'
import { currentToken, setToken } from './api.ts'

export function TokenBar(p: { readonly onChange: () => void }) {
  const [has, setHas] = useState(currentToken() !== null)
  return (
    <span class="token-bar">
      <input
        id="token"
        type="password"
        autocomplete="off"
        placeholder={has ? 'token set for this tab (paste to replace)' : 'paste a token (operator: changes)'}
        onChange={(e) => {
          const input = e.target as HTMLInputElement
          setToken(input.value.trim() || null)
          input.value = ''
          setHas(currentToken() !== null)
          p.onChange()
        }}
      />
      {has && (
        <button
          type="button"
          class="link"
          onClick={() => {
            setToken(null)
            setHas(false)
            p.onChange()
          }}
        >
          forget token
        </button>
      )}
    </span>
  )
}
