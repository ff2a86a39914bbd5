// Turns the schema validator's errors (TypeBox, through Elysia) into the contract's field errors:
// {"field": ["This field is required."]}, one message a field, every failing field at once.
import { messages, type FieldErrors } from "./errors.ts";

interface SchemaError {
  path: string;
  value: unknown;
  schema: { type?: string; maxLength?: number; minLength?: number; error?: unknown };
}

function messageFor({ value, schema }: SchemaError): string {
  if (value === undefined) return messages.required;
  if (typeof schema.error === "string") return schema.error;
  if (schema.type === "string") {
    if (typeof value !== "string") return messages.notString;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return messages.maxLength(schema.maxLength);
    if (schema.minLength !== undefined && value.length < schema.minLength) return messages.blank;
  }
  return "Invalid value.";
}

/** Errors with no field (the body as a whole) come back under `non_field_errors`. */
export function fieldErrorsFrom(errors: readonly SchemaError[]): FieldErrors {
  const fields: FieldErrors = {};
  for (const error of errors) {
    const field = error.path.split("/")[1] || "non_field_errors";
    fields[field] ??= [field === "non_field_errors" ? "Invalid data." : messageFor(error)];
  }
  return fields;
}
