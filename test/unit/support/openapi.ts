// A small validator for requests against GitHub's published OpenAPI description (@octokit/openapi, the
// api.github.com document). It answers one question for the tests: would GitHub's description allow this request?
// Method + path template, path and query parameters, and the JSON body against the operation's requestBody schema
// ($ref, type, nullable, enum, required, properties, additionalProperties, items, oneOf/anyOf/allOf, lengths, ranges).

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

type Schema = Record<string, unknown>

interface Parameter {
  name: string
  in: 'path' | 'query' | 'header' | 'cookie'
  required?: boolean
  schema?: Schema
  'x-multi-segment'?: boolean
}

interface Operation {
  operationId?: string
  parameters?: (Parameter | { $ref: string })[]
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> } | { $ref: string }
}

interface Document {
  paths: Record<string, Record<string, unknown>>
  components: Record<string, Record<string, unknown>>
}

export interface RequestToValidate {
  method: string
  /** Path and query as sent, relative to the API root, e.g. `/repos/o/r/deployments?x=1`. */
  url: string
  contentType?: string
  /** The parsed JSON body; undefined when the request had none. */
  body?: unknown
}

export interface ValidationOptions {
  /**
   * 'error' also rejects object properties a schema does not list even where it does not state additionalProperties
   * (OpenAPI then allows them, but GitHub ignores them, so one is almost always a misspelt parameter). Default 'error'.
   */
  unknownProperties?: 'allow' | 'error'
}

export interface RequestValidation {
  /** `POST /repos/{owner}/{repo}/deployments` when the path matched an operation. */
  operation?: string
  operationId?: string
  errors: string[]
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])

interface Route {
  template: string
  method: string
  pattern: RegExp
  names: string[]
  literalLength: number
  operation: Operation
  pathItem: Record<string, unknown>
}

export class OpenApiDescription {
  private readonly routes: Route[] = []

  constructor(private readonly doc: Document) {
    for (const [template, pathItem] of Object.entries(doc.paths)) {
      const names: string[] = []
      const multi = new Set<string>()
      for (const [method, operation] of Object.entries(pathItem)) {
        if (!METHODS.has(method)) continue
        for (const p of this.parameters(pathItem, operation as Operation)) {
          if (p.in === 'path' && p['x-multi-segment']) multi.add(p.name)
        }
      }
      const source = template
        .split(/(\{[^}]+\})/)
        .map((part) => {
          const name = /^\{([^}]+)\}$/.exec(part)?.[1]
          if (name === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          names.push(name)
          return multi.has(name) ? '(.+)' : '([^/]+)'
        })
        .join('')
      const pattern = new RegExp(`^${source}$`)
      const literalLength = template.replace(/\{[^}]+\}/g, '').length
      for (const [method, operation] of Object.entries(pathItem)) {
        if (!METHODS.has(method)) continue
        this.routes.push({
          template,
          method,
          pattern,
          names,
          literalLength,
          operation: operation as Operation,
          pathItem
        })
      }
    }
    // The most specific template wins, as in GitHub's router: `/repos/{owner}/{repo}/git/refs` before
    // `/repos/{owner}/{repo}/{anything}`.
    this.routes.sort((a, b) => b.literalLength - a.literalLength)
  }

  /** The api.github.com description shipped in @octokit/openapi. */
  static load(): OpenApiDescription {
    const require = createRequire(import.meta.url)
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json')
    return new OpenApiDescription(JSON.parse(readFileSync(file, 'utf8')) as Document)
  }

  /** The schema at a local `#/…` reference. */
  resolve(ref: string): unknown {
    if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported, got ${ref}`)
    let node: unknown = this.doc
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
      if (typeof node !== 'object' || node === null || !(key in node)) throw new Error(`Unresolvable $ref ${ref}`)
      node = (node as Record<string, unknown>)[key]
    }
    return node
  }

  validateRequest(request: RequestToValidate, options: ValidationOptions = {}): RequestValidation {
    const strict = (options.unknownProperties ?? 'error') === 'error'
    const method = request.method.toLowerCase()
    const url = new URL(request.url, 'http://api.invalid')
    const pathname = url.pathname

    const candidates = this.routes.filter((route) => route.pattern.test(pathname))
    if (candidates.length === 0) return { errors: [`${request.method} ${pathname}: no such path in the description`] }
    const route = candidates.find((candidate) => candidate.method === method)
    if (route === undefined) {
      const allowed = [...new Set(candidates.map((candidate) => candidate.method.toUpperCase()))].join(', ')
      return { errors: [`${request.method} ${pathname}: method not allowed (the description has ${allowed})`] }
    }

    const operation = `${method.toUpperCase()} ${route.template}`
    const errors: string[] = []
    const match = route.pattern.exec(pathname)
    const pathValues = new Map<string, string>()
    route.names.forEach((name, i) => pathValues.set(name, decodeURIComponent(match?.[i + 1] ?? '')))

    const parameters = this.parameters(route.pathItem, route.operation)
    for (const p of parameters.filter((parameter) => parameter.in === 'path')) {
      const value = pathValues.get(p.name)
      if (value === undefined || value === '') {
        errors.push(`path parameter ${p.name} is missing`)
        continue
      }
      if (p.schema)
        errors.push(...this.validate(p.schema, coerce(value, this.deref(p.schema)), `path.${p.name}`, strict))
    }
    for (const name of pathValues.keys()) {
      if (!parameters.some((p) => p.in === 'path' && p.name === name)) {
        errors.push(`path parameter ${name} is not described`)
      }
    }

    const query = parameters.filter((parameter) => parameter.in === 'query')
    for (const p of query) {
      const values = url.searchParams.getAll(p.name)
      if (values.length === 0) {
        if (p.required) errors.push(`query parameter ${p.name} is required`)
        continue
      }
      for (const value of values) {
        if (p.schema) {
          errors.push(...this.validate(p.schema, coerce(value, this.deref(p.schema)), `query.${p.name}`, strict))
        }
      }
    }
    for (const name of new Set(url.searchParams.keys())) {
      if (!query.some((p) => p.name === name)) errors.push(`query parameter ${name} is not described`)
    }

    const requestBody = route.operation.requestBody
      ? (this.deref(route.operation.requestBody as Schema) as Operation['requestBody'] & object)
      : undefined
    if (request.body === undefined) {
      if (requestBody && 'required' in requestBody && requestBody.required) errors.push('request body is required')
    } else if (requestBody === undefined || !('content' in requestBody) || requestBody.content === undefined) {
      errors.push('the operation takes no request body')
    } else {
      const json = requestBody.content['application/json']
      if (json === undefined) {
        errors.push(`the operation takes ${Object.keys(requestBody.content).join(', ')}, not JSON`)
      } else {
        if (request.contentType !== undefined && !/^application\/json\b/i.test(request.contentType)) {
          errors.push(`content-type ${request.contentType} is not application/json`)
        }
        if (json.schema) errors.push(...this.validate(json.schema, request.body, 'body', strict))
      }
    }

    const result: RequestValidation = { operation, errors }
    if (route.operation.operationId) result.operationId = route.operation.operationId
    return result
  }

  /** Validates `value` against `schema`; returns one message per problem, each naming where it is. */
  validate(schemaOrRef: Schema, value: unknown, at: string, strict = true): string[] {
    const schema = this.deref(schemaOrRef)
    const errors: string[] = []

    if (value === null) {
      if (
        schema.nullable === true ||
        schema.type === 'null' ||
        (Array.isArray(schema.type) && schema.type.includes('null'))
      ) {
        return []
      }
      // A schema without type or with only combinators decides through them.
      if (schema.type !== undefined) return [`${at}: null is not allowed`]
    }

    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string]
      if (!types.some((type) => hasType(value, type))) {
        return [`${at}: expected ${types.join(' or ')}, got ${describeValue(value)}`]
      }
    }

    if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => allowed === value)) {
      errors.push(
        `${at}: ${JSON.stringify(value)} is not one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`
      )
    }
    if ('const' in schema && schema.const !== value) errors.push(`${at}: must be ${JSON.stringify(schema.const)}`)

    if (typeof value === 'string') {
      const length = Array.from(value).length
      if (typeof schema.maxLength === 'number' && length > schema.maxLength) {
        errors.push(`${at}: longer than ${schema.maxLength} characters`)
      }
      if (typeof schema.minLength === 'number' && length < schema.minLength) {
        errors.push(`${at}: shorter than ${schema.minLength} characters`)
      }
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
        errors.push(`${at}: does not match ${schema.pattern}`)
      }
    }
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`)
      if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`)
    }

    if (Array.isArray(value)) {
      if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
        errors.push(`${at}: fewer than ${schema.minItems} items`)
      }
      if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
        errors.push(`${at}: more than ${schema.maxItems} items`)
      }
      if (schema.items !== undefined && typeof schema.items === 'object') {
        value.forEach((item, i) => errors.push(...this.validate(schema.items as Schema, item, `${at}[${i}]`, strict)))
      }
    }

    const combined = Array.isArray(schema.allOf) || Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const object = value as Record<string, unknown>
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      for (const name of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
        if (!(name in object)) errors.push(`${at}: required property ${name} is missing`)
      }
      for (const [name, propertyValue] of Object.entries(object)) {
        const property = properties[name]
        if (property !== undefined) {
          errors.push(...this.validate(property, propertyValue, `${at}.${name}`, strict))
        } else if (schema.additionalProperties === false) {
          errors.push(`${at}: property ${name} is not allowed`)
        } else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
          errors.push(...this.validate(schema.additionalProperties as Schema, propertyValue, `${at}.${name}`, strict))
        } else if (
          strict &&
          schema.additionalProperties === undefined &&
          schema.properties !== undefined &&
          // Under a combinator the other branches may describe the property; leave it to them.
          !combined
        ) {
          errors.push(`${at}: property ${name} is not described (misspelt?)`)
        }
      }
    }

    if (Array.isArray(schema.allOf)) {
      // Each branch sees only part of the object, so unknown-property checks would reject valid values.
      for (const branch of schema.allOf as Schema[]) errors.push(...this.validate(branch, value, at, false))
    }
    if (Array.isArray(schema.anyOf)) {
      const branches = (schema.anyOf as Schema[]).map((branch) => this.validate(branch, value, at, strict))
      if (!branches.some((branchErrors) => branchErrors.length === 0)) {
        errors.push(`${at}: matches none of anyOf (${branches.map((b) => b.join('; ')).join(' | ')})`)
      }
    }
    if (Array.isArray(schema.oneOf)) {
      const branches = (schema.oneOf as Schema[]).map((branch) => this.validate(branch, value, at, strict))
      const matching = branches.filter((branchErrors) => branchErrors.length === 0).length
      if (matching !== 1) {
        errors.push(
          matching === 0
            ? `${at}: matches none of oneOf (${branches.map((b) => b.join('; ')).join(' | ')})`
            : `${at}: matches ${matching} branches of oneOf, exactly one allowed`
        )
      }
    }
    return errors
  }

  private parameters(pathItem: Record<string, unknown>, operation: Operation): Parameter[] {
    // Operation-level parameters override path-level ones of the same name and location.
    const all = [...((pathItem.parameters as Operation['parameters']) ?? []), ...(operation.parameters ?? [])].map(
      (p) => this.deref(p as Schema) as unknown as Parameter
    )
    const byKey = new Map<string, Parameter>()
    for (const p of all) byKey.set(`${p.in}:${p.name}`, p)
    return [...byKey.values()]
  }

  private deref(node: Schema): Schema {
    let current = node
    for (let depth = 0; typeof current.$ref === 'string'; depth++) {
      if (depth > 32) throw new Error(`$ref cycle at ${current.$ref}`)
      current = this.resolve(current.$ref) as Schema
    }
    return current
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'array':
      return Array.isArray(value)
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value)
    case 'null':
      return value === null
    default:
      return false
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return `${typeof value} ${JSON.stringify(value)}`.slice(0, 80)
}

/** Path and query values arrive as text; turn them into what their schema types them as, so `abc` fails `integer`. */
function coerce(text: string, schema: Schema): unknown {
  const type = schema.type
  if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text
  return text
}
