import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../composition.ts';
import { validationFailed } from '../lib/errors.ts';
import { errorResponse } from './errors.ts';

export type { AppEnv } from '../composition.ts';

/** A router whose request validation failures answer the API's error body. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, validationFailed(result.error.issues));
      }
      return undefined;
    },
  });
}

export type Router = ReturnType<typeof newRouter>;
