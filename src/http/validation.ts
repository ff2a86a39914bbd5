// Turns the schema validator's errors (TypeBox, through Elysia) into the contract's field errors:
// {"field": ["This field is required."]}, one message a field, every failing field at once.
import { messages, type FieldErrors } from "./errors.ts";
import { queryMessages } from "./query.ts";

interface Schema {
  type?: string;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  const?: unknown;
  format?: string;
  anyOf?: Schema[];
  error?: unknown;
}

interface SchemaError {
  path: string;
  value: unknown;
  schema: Schema;
}

function messageFor({ value, schema }: SchemaError): string {
  if (value === undefined) return messages.required;
  return mismatch(value, schema) ?? "Invalid value.";
}

/** Elysia's t.Integer is a union with a numeric-string branch that only coerces input. */
const isNumericStringBranch = (schema: Schema) => schema.type === "string" && (schema.format === "integer" || schema.format === "numeric");

/** DRF's message for `value` failing `schema`, or undefined when there is no better one than "Invalid value.". */
function mismatch(value: unknown, schema: Schema): string | undefined {
  if (typeof schema.error === "string") return schema.error;
  if (schema.anyOf) return unionMismatch(value, schema);
  switch (schema.type) {
    case "string":
      if (typeof value !== "string") return messages.notString;
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return messages.maxLength(schema.maxLength);
      if (schema.minLength !== undefined && value.length < schema.minLength) return messages.blank;
      return undefined;
    case "integer":
      if (value === null) return messages.notNull;
      if (typeof value !== "number" || !Number.isInteger(value)) return queryMessages.integer;
      if (schema.maximum !== undefined && value > schema.maximum) return queryMessages.atMost(schema.maximum);
      if (schema.minimum !== undefined && value < schema.minimum) return queryMessages.atLeast(schema.minimum);
      return undefined;
    case "boolean":
      return value === null ? messages.notNull : messages.notBoolean;
  }
  return undefined;
}

function unionMismatch(value: unknown, schema: Schema): string | undefined {
  const members = schema.anyOf!.filter((member) => !isNumericStringBranch(member));
  const nonNull = members.filter((member) => member.type !== "null");
  if (value === null) return nonNull.length === members.length ? messages.notNull : undefined;
  if (nonNull.length > 0 && nonNull.every((member) => "const" in member)) {
    return typeof value === "string" || typeof value === "number" ? queryMessages.invalidChoice(String(value).slice(0, 40)) : messages.notString;
  }
  if (nonNull.length === 1) return mismatch(value, nonNull[0]!);
  return undefined;
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
