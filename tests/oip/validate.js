#!/usr/bin/env node
// Validates recorded console answers against the Open Inference Protocol's
// OpenAPI document (third_party/open-inference-protocol).
//
// Usage: node validate.js RECORDS.jsonl
// Each line: {"route":"live|ready|server|model|model_ready|infer",
//             "status":N,"body":"...","what":"..."}
// A status the document lists for the route's operation is validated by
// openapi-response-validator against that response; any other status (the
// 4xx and 503 refusals the document leaves out) must be 4xx or 503 and its
// body must be the operation's error object ({"error": string}). Prints one
// line per failure and exits 1 if any failed.
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const OpenAPIResponseValidator = require('openapi-response-validator').default;

const spec = yaml.load(
  fs.readFileSync(path.join(__dirname, '../../third_party/open-inference-protocol/open_inference_rest.yaml'), 'utf8'));

// The console's routes onto the document's operations (it lists only the
// versioned model paths) and each operation's error schema.
const model = '/v2/models/${MODEL_NAME}/versions/${MODEL_VERSION}';
const routes = {
  live: ['/v2/health/live', 'get', 'metadata_server_error_response'],
  ready: ['/v2/health/ready', 'get', 'metadata_server_error_response'],
  server: ['/v2/', 'get', 'metadata_server_error_response'],
  model: [model, 'get', 'metadata_model_error_response'],
  model_ready: [model + '/ready', 'get', 'metadata_model_error_response'],
  infer: [model + '/infer', 'post', 'inference_error_response'],
};

function validator(responses) {
  return new OpenAPIResponseValidator({responses, components: spec.components});
}

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim() !== '');
let failures = 0;
let checked = 0;
const seen = new Set();
for (const line of lines) {
  const r = JSON.parse(line);
  const fail = (why) => {
    failures++;
    console.log(`FAIL ${r.what} (${r.route}, ${r.status}): ${why}`);
  };
  const route = routes[r.route];
  if (!route) {
    fail('unknown route');
    continue;
  }
  const operation = spec.paths[route[0]][route[1]];
  let body;
  try {
    // An empty body (health and readiness) is the document's "no content".
    body = r.body === '' ? undefined : JSON.parse(r.body);
  } catch (e) {
    fail('the body is not JSON: ' + JSON.stringify(r.body).slice(0, 200));
    continue;
  }
  checked++;
  seen.add(`${r.route} ${r.status}`);
  let errors;
  if (operation.responses[String(r.status)]) {
    errors = validator(operation.responses).validateResponse(r.status, body);
  } else {
    if (!((r.status >= 400 && r.status < 500) || r.status === 503)) {
      fail('a status the document does not list must be a 4xx refusal (or 503)');
      continue;
    }
    const responses = {[String(r.status)]: {description: 'refusal', content: {'application/json': {
      schema: {$ref: '#/components/schemas/' + route[2]}}}}};
    errors = validator(responses).validateResponse(r.status, body);
    if (!errors && typeof body.error !== 'string') errors = {errors: [{message: 'no "error" string'}]};
  }
  if (!errors && r.route === 'infer' && r.status === 200) {
    for (const out of body.outputs) {
      const n = out.shape.reduce((a, b) => a * b, 1);
      if (out.data.length !== n) errors = {errors: [{message: `data holds ${out.data.length} values, shape ${n}`}]};
    }
  }
  if (errors) fail(JSON.stringify(errors.errors));
}
console.log(`validated=${checked} failed=${failures} kinds=${[...seen].sort().join(',')}`);
process.exit(failures === 0 && checked > 0 ? 0 : 1);
