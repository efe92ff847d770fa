/** Request shapes of the tracking API, and how a validation failure names the offending field. */
import { z } from 'zod';

const address = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters');
const trackingCode = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be 1–64 letters, digits or "-" (e.g. PKG-000123)');

export const createPackageBody = z.object({
  customer_id: z.string().regex(/^[a-z0-9-]+$/, 'must match [a-z0-9-]+ (e.g. customer-1)'),
  origin_address: address,
  next_address: address.nullable().optional(),
  /** Optional: a tracking code of your own; one is generated otherwise. */
  package_id: trackingCode.optional(),
});
export type CreatePackageBody = z.infer<typeof createPackageBody>;

export const movementBody = z.object({
  status: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  actual_address: address,
  next_address: address.nullable().optional(),
});
export type MovementBody = z.infer<typeof movementBody>;

export const packageParams = z.object({ id: trackingCode });

export interface FieldProblem {
  field: string;
  message: string;
}

/** The 400 body: `message` names the first field, `problems` lists every one. */
export interface ValidationErrorBody {
  error: 'invalid_request';
  message: string;
  field: string;
  problems: FieldProblem[];
}

export function validationError(error: z.ZodError, root: string): ValidationErrorBody {
  const problems = error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : root,
    message: issue.message,
  }));
  const first = problems[0] ?? { field: root, message: 'invalid' };
  return {
    error: 'invalid_request',
    message: `${first.field}: ${first.message}`,
    field: first.field,
    problems,
  };
}
