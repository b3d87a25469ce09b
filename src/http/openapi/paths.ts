/** Matching request paths against the path templates of the OpenAPI document. */

/** The operation keys of an OpenAPI path item (OpenAPI 3.1 §4.8.9). */
export const OPENAPI_METHODS: ReadonlySet<string> = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * A template such as `/v1/reports/{id}` as a pattern that matches request paths the way express
 * routes do: one segment per parameter, any case, an optional trailing slash.
 */
export function pathTemplatePattern(template: string): RegExp {
  const segment = (s: string): string => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${template.split('/').map(segment).join('/')}/?$`, 'i');
}
