import { describe, expect, test } from '@jest/globals'
import { clearTextRefusal, credentialsMayGoTo } from '../../src/docker/credential-scope.js'

describe('credentialsMayGoTo: the input credentials go only to the registry they were given for', () => {
  test.each<[string, string, boolean]>([
    ['registry.example.com', 'registry.example.com', true],
    ['Registry.Example.com', 'registry.example.com', true],
    ['registry.example.com:5000', 'registry.example.com:5000', true],
    ['registry.example.com', 'registry.example.com:5000', false],
    ['registry.example.com', 'other.example.com', false],
    ['registry.example.com', 'registry.example.com.evil.io', false],
    ['docker.io', 'index.docker.io', true],
    ['https://registry.example.com/', 'registry.example.com', true],
    ['127.0.0.1:5000', '127.0.0.1:5001', false]
  ])('given for %s, asked by %s → %p', (given, host, want) => {
    expect(credentialsMayGoTo(given, host)).toBe(want)
  })
})

describe('clearTextRefusal: never over plain HTTP off this machine', () => {
  test.each<[string, boolean]>([
    ['https://registry.example.com/v2/', false],
    ['http://127.0.0.1:5000/v2/', false],
    ['http://localhost:5000/token', false],
    ['http://[::1]:5000/v2/', false],
    ['http://registry.example.com/v2/', true],
    ['http://10.0.0.5:5000/token', true],
    ['ftp://registry.example.com/', true]
  ])('%s refused: %p', (url, refused) => {
    expect(clearTextRefusal(url) !== undefined).toBe(refused)
  })
})
