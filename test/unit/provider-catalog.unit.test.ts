import { describe, expect, it } from 'vitest';
import { isLifelineError } from '../../src/errors.js';
import { PROVIDERS, parseCatalog } from '../../src/providers/catalog.js';
import { mergePagination } from '../../src/providers/pagination-schema.js';
import { baseUrlFor, fillTemplate, headersFor, resolveIntegration } from '../../src/providers/resolve-integration.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('provider catalog', () => {
  it('holds the required providers, each with auth mode and base URL', () => {
    for (const name of [
      'salesforce',
      'hubspot',
      'github',
      'slack',
      'google-calendar',
      'google-mail',
      'attio',
      'cal-com',
      'folk',
      'microsoft',
      'linear',
      'notion',
    ]) {
      expect(PROVIDERS[name], name).toMatchObject({ authMode: expect.any(String), baseUrl: expect.any(String) });
    }
  });

  it('rejects an invalid entry at load, naming it and the field', () => {
    const error = thrown(() => parseCatalog({ broken: { displayName: 'B', authMode: 'MAGIC', baseUrl: 'x' } }));
    expect(isLifelineError(error, 'invalid_configuration')).toBe(true);
    expect((error as Error).message).toMatch(/broken is invalid: authMode/);
  });

  it('applies an integration over its provider; the integration wins', () => {
    const crm = resolveIntegration('crm', {
      provider: 'hubspot',
      baseUrl: 'http://127.0.0.1:1',
      headers: { 'X-A': '1' },
    });
    expect(crm).toMatchObject({
      id: 'crm',
      provider: 'hubspot',
      displayName: 'HubSpot',
      baseUrlTemplate: 'http://127.0.0.1:1',
      headers: { 'x-a': '1' },
      paginate: { type: 'cursor', cursor_name_in_request: 'after', response_path: 'results' },
    });
    // The provider defaults to the integration id; an unknown provider has no base URL.
    expect(resolveIntegration('notion').headers).toEqual({ 'notion-version': '2022-06-28' });
    expect(baseUrlFor(resolveIntegration('acme'), {})).toEqual({ problem: expect.stringContaining('has no base URL') });
    // A partial paginate override keeps the catalog's other fields; another type starts over.
    expect(resolveIntegration('h', { provider: 'hubspot', paginate: { limit: 50 } }).paginate).toMatchObject({
      type: 'cursor',
      limit: 50,
    });
    expect(
      resolveIntegration('h', { provider: 'hubspot', paginate: { type: 'offset', offset_name_in_request: 'o' } })
        .paginate,
    ).toEqual({ type: 'offset', offset_name_in_request: 'o' });
  });

  it('refuses invalid integration settings with the field named', () => {
    for (const config of [{ baseUrll: 'typo' }, { auth: { header: '' } }, { paginate: { type: 'cursor' } }]) {
      const error = thrown(() => resolveIntegration('x', config));
      expect(isLifelineError(error, 'invalid_configuration'), JSON.stringify(config)).toBe(true);
    }
  });

  it('templates base URLs and headers from the connection config', () => {
    const sf = resolveIntegration('salesforce');
    expect(baseUrlFor(sf, { instance_url: 'https://acme.my.salesforce.com' })).toEqual({
      baseUrl: 'https://acme.my.salesforce.com',
    });
    expect(baseUrlFor(sf, {})).toEqual({ problem: expect.stringContaining('needs connectionConfig.instance_url') });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: lifeline's placeholder syntax
    expect(fillTemplate('https://${connectionConfig.a.b}.x.com', { a: { b: 'eu' } })).toEqual({
      value: 'https://eu.x.com',
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: lifeline's placeholder syntax
    const z = resolveIntegration('z', { baseUrl: 'https://z', headers: { 'X-Tenant': '${connectionConfig.tenant}' } });
    expect(headersFor(z, { tenant: 't1' })).toEqual({ 'x-tenant': 't1' });
    expect(headersFor(z, {})).toEqual({});
  });

  it('validates merged pagination: style fields, link source, and no type means none', () => {
    expect(mergePagination([undefined, {}])).toBeNull();
    expect(() => mergePagination([{ type: 'link' }])).toThrow(
      /link_rel_in_response_header or link_path_in_response_body/,
    );
    expect(() => mergePagination([{ type: 'cursor', cursor_name_in_request: 'c' }])).toThrow(/cursor_path_in_response/);
  });
});
