/**
 * Mutations need `Authorization: Bearer <DIFFUSION_NEXUS_API_TOKEN>` when a token is configured; queries stay
 * open. Checked once per operation before execution, so no mutation resolver can forget it. The comparison is
 * constant-time, and the token never appears in errors or logs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from '../resolvers/context.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Whether the Authorization header carries the token (hashing first makes the comparison length-independent). */
export function bearerMatches(authorization: string | null, token: string | null): boolean {
  if (token === null) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

export function writeGuardPlugin(): Plugin<GraphQLContext> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation' || (args.contextValue as GraphQLContext).canWrite) return;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(
            "Mutations need `Authorization: Bearer <token>` with the server's DIFFUSION_NEXUS_API_TOKEN.",
            {
              extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
            },
          ),
        ],
      });
    },
  };
}
