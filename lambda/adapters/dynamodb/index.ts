export {
  type ApplyResult,
  applyConfig,
  ConcurrentChangeError,
  declaredRefs,
  type GeneratedSecret,
  RegistryTable,
  type RegistryTableOptions,
  writeChanges,
} from './admin-store';
export { DynamoClientRegistrations, type DynamoClientRegistrationsOptions } from './client-registrations';
export { isTransientStoreError, toStoreError } from './errors';
export { GrantAdmin, type GrantAdminOptions, type GrantListing } from './grant-admin';
export { DynamoGrantStore, type DynamoGrantStoreOptions } from './grant-store';
export { DynamoRegistry, type DynamoRegistryOptions } from './registry';
export { DynamoReplayStore, type DynamoReplayStoreOptions } from './replay-store';
export { createTableInput, TABLE_KEYS } from './table';
