// e2e scenarios run against real components with real timings (back-offs, progress deadlines): give them time.
import { jest } from '@jest/globals'

jest.setTimeout(240_000)
