export * from './authorization-server';
