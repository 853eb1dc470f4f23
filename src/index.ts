/**
 * lifeline: an event-sourced connection lifecycle engine for API integrations.
 *
 * @example
 * import { createEngine, createOnEvent } from 'lifeline';
 */
export type { ConnectionError, ConnectionEvent, FunctionRunError } from '../machines/connection-events.js';
export type { ConnectionState } from '../machines/connection-machine.js';
export { connectionMachine, MACHINE_VERSION } from '../machines/connection-machine.js';
export type { Command, Credentials } from './engine/command-schemas.js';
export {
  type ConnectionView,
  createEngine,
  type Engine,
  type HistoryEntry,
  type SendResult,
} from './engine/create-engine.js';
export type { EngineOptions, IntegrationConfig } from './engine/engine-options.js';
export {
  CommandRefusedError,
  ConfigurationError,
  InvalidCommandError,
  isLifelineError,
  LifelineError,
  type LifelineErrorCode,
  ProviderHttpError,
} from './errors.js';
export { ActionError } from './functions/action-error.js';
export type {
  LogLevel,
  NangoConnection,
  NangoIntegration,
  OnEventContext,
  PaginateOption,
  ProxyConfiguration,
  ProxyResponse,
  TokenResult,
  UncontrolledFetchOptions,
} from './functions/context-types.js';
export { createOnEvent, type OnEvent, type OnEventDefinition } from './functions/create-on-event.js';
export { type LoadedFunction, loadFunctions } from './functions/load-functions.js';
export type { HttpOptions } from './http/http-settings.js';
export { PROVIDERS } from './providers/catalog.js';
export type { PaginationConfig } from './providers/pagination-schema.js';
export type { AuthInjection, ProviderDefinition, RetryHeaderConfig } from './providers/provider-schema.js';
export { type Database, openDatabase } from './store/open-database.js';
