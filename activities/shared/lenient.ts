import { z } from 'zod';

/**
 * A field of an outside answer that no flow here reads: its value when it has the expected shape,
 * undefined otherwise, so that a vendor leaving it out or changing it can never fail a parse.
 */
export function lenient<T extends z.ZodType>(schema: T) {
  return z
    .unknown()
    .optional()
    .transform((value): z.output<T> | undefined => {
      const parsed = schema.safeParse(value);
      return parsed.success ? parsed.data : undefined;
    });
}
