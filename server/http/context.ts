import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../composition.ts';
import { DomainError } from '../lib/errors.ts';
import { errorResponse } from './errors.ts';

export type { AppEnv } from '../composition.ts';

/** A router whose request validation failures answer the API's error body. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const details = result.error.issues.slice(0, 50).map((issue) => ({
          path: issue.path.join('.'),
          message: issue.message,
        }));
        return errorResponse(c, new DomainError('invalid_request', 'request validation failed', details));
      }
      return undefined;
    },
  });
}

export type Router = ReturnType<typeof newRouter>;
