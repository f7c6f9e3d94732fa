export * from './authorization-server';
export * from './registry';
