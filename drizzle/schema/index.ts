export * from './enums.ts';
export * from './users.ts';
export * from './customers.ts';
export * from './appliances.ts';
export * from './telemetry.ts';
export * from './engine.ts';
export * from './tickets.ts';
export * from './operations.ts';
