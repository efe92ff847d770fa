/**
 * The customers file (README "Customers file"), parsed once against a schema. Every problem is reported, none is fixed
 * up silently.
 */
import { z } from 'zod';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const secret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be "whsec_" followed by base64')
  .refine((s) => Buffer.from(s.slice(6), 'base64').length >= 16, 'key must decode to at least 16 bytes');

const url = z.string().refine((u) => {
  try {
    const parsed = new URL(u);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

export const retryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(1000).default(8),
    baseDelayMs: z.number().int().min(1).default(1000),
    maxDelayMs: z.number().int().min(1).default(600_000),
  })
  .strict()
  .refine((r) => r.maxDelayMs >= r.baseDelayMs, {
    message: 'maxDelayMs must be >= baseDelayMs',
    path: ['maxDelayMs'],
  });

export const breakerPolicySchema = z
  .object({
    errorThresholdPercentage: z.number().min(1).max(100).default(50),
    volumeThreshold: z.number().int().min(1).default(10),
    windowMs: z.number().int().min(100).default(10_000),
    resetTimeoutMs: z.number().int().min(10).default(30_000),
  })
  .strict();

export const customerSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]+$/, 'must match [a-z0-9-]+'),
    url,
    secret,
    match: z
      .union([z.literal('*'), z.record(z.string(), z.union([scalar, z.array(scalar).min(1)]))])
      .optional(),
    concurrency: z.number().int().min(1).max(1024).default(16),
    ratePerSecond: z.number().positive().nullable().default(null),
    timeoutMs: z.number().int().min(10).max(600_000).default(60_000),
    /** Deliveries kept in memory for this customer before further ones are parked durably. */
    maxInMemory: z.number().int().min(1).max(1_000_000).default(1000),
    retry: retryPolicySchema.default({ maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 600_000 }),
    breaker: breakerPolicySchema.default({
      errorThresholdPercentage: 50,
      volumeThreshold: 10,
      windowMs: 10_000,
      resetTimeoutMs: 30_000,
    }),
  })
  .strict();

export const customersFileSchema = z
  .object({ customers: z.array(customerSchema).min(1, 'at least one customer is required') })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.customers.forEach((c, i) => {
      if (seen.has(c.id))
        ctx.addIssue({ code: 'custom', message: `duplicate id "${c.id}"`, path: ['customers', i, 'id'] });
      seen.add(c.id);
    });
  });

export type Scalar = z.infer<typeof scalar>;
export type MatchSpec = '*' | Record<string, Scalar | Scalar[]>;
export type RetryPolicy = z.infer<typeof retryPolicySchema>;
export type BreakerPolicy = z.infer<typeof breakerPolicySchema>;
export type CustomerConfig = Omit<z.infer<typeof customerSchema>, 'match'> & { match: MatchSpec };

export function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${prefix}${path ? `${path}: ` : ''}${issue.message}`;
  });
}
