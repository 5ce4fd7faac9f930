import '/work/main/src/pki/reflect-metadata.ts'
import tls from 'node:tls'
import { once } from 'node:events'
import { X509Certificate as NodeX509, createPrivateKey } from 'node:crypto'
const x = await import('/work/main/node_modules/@peculiar/x509/build/x509.es.js')
import { createTestPki } from '/work/main/src/testing/certs.ts'
import { meshServerTlsOptions, meshClientTlsOptions } from '/work/main/src/pki/tls-options.ts'
const pki = await createTestPki(['b'])
const caKey = createPrivateKey(pki.ca.keyPem).toCryptoKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
const caCert = new x.X509Certificate(pki.ca.certPem)
const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
for (const usage of [[x.ExtendedKeyUsage.serverAuth], [x.ExtendedKeyUsage.clientAuth]]) {
const c = await x.X509CertificateGenerator.create({ subject: 'CN=a', issuer: caCert.subjectName, publicKey: keys.publicKey, signingKey: caKey, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [new x.ExtendedKeyUsageExtension(usage), new x.SubjectAlternativeNameExtension([{type:'dns', value:'a'}])] })
const keyPem = x.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY')
const a = { key: keyPem, cert: c.toString('pem'), ca: pki.ca.certPem }
// a as client
let s = tls.createServer(meshServerTlsOptions(pki.keysOf('b')), (sock) => { console.log(usage, 'server accepted client'); sock.end('x') })
s.on('tlsClientError', (e) => console.log(usage, 'server err', e.message))
s.listen(0, '127.0.0.1'); await once(s, 'listening')
let sock = tls.connect({ ...meshClientTlsOptions(a, 'b'), host: '127.0.0.1', port: s.address().port })
sock.on('error', (e) => console.log(usage, 'client err', e.message)); await once(sock, 'close'); s.close()
// a as server
s = tls.createServer(meshServerTlsOptions(a), (sock) => { console.log(usage, 'server a accepted'); sock.end('x') })
s.on('tlsClientError', (e) => console.log(usage, 'server a err', e.message))
s.listen(0, '127.0.0.1'); await once(s, 'listening')
sock = tls.connect({ ...meshClientTlsOptions(pki.keysOf('b'), 'a'), host: '127.0.0.1', port: s.address().port })
sock.on('error', (e) => console.log(usage, 'client b err', e.message)); sock.on('data', d=>console.log(usage,'b got', String(d))); await once(sock, 'close'); s.close()
}
