// Validates switchboard answers against @openrouter/sdk's own zod response schemas, the
// ones its client runs on every 200 (a failure there is the SDK's ResponseValidationError).
// Starts nothing: reads {"chat": {...}, "generation": {...}, "key": {...}, "models": {...}}
// (any subset) on stdin, prints one line per answer, exits 1 if any does not validate.
import { readFileSync } from "node:fs";
import * as models from "@openrouter/sdk/models";
import * as operations from "@openrouter/sdk/models/operations";

// The schema each SDK call validates a 200 answer with (see its funcs/*.js `M.json(200, …)`).
const SCHEMAS = {
  chat: models.ChatResult$inboundSchema, // chat.send, non-streaming
  generation: models.GenerationResponse$inboundSchema, // generations.getGeneration
  key: operations.GetCurrentKeyResponse$inboundSchema, // apiKeys.getCurrentKeyMetadata
  models: models.ModelsListResponse$inboundSchema, // models.list
};

const answers = JSON.parse(readFileSync(0, "utf8"));
let failed = false;
for (const [kind, answer] of Object.entries(answers)) {
  const schema = SCHEMAS[kind];
  if (!schema) {
    console.log(`${kind}: no schema for this kind (known: ${Object.keys(SCHEMAS).join(", ")})`);
    failed = true;
    continue;
  }
  const result = schema.safeParse(answer);
  if (result.success) {
    console.log(`${kind}: ok`);
  } else {
    failed = true;
    for (const issue of result.error.issues) {
      console.log(`${kind}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
