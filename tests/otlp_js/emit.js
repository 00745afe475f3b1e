// Emits what Claude Code, Codex and Gemini CLI emit over OTLP/HTTP, with the
// OpenTelemetry JS SDK, to a running agent_monitor; tests/otlp_monitor_test.cpp then
// checks that the monitor's totals equal what was sent.
//   node emit.js BASE_URL json|proto delta|cumulative SUFFIX
// SUFFIX keeps each run's sessions apart. Exits non-zero on any export failure.
'use strict';
const { MeterProvider, PeriodicExportingMetricReader, AggregationType } =
    require('@opentelemetry/sdk-metrics');
const { LoggerProvider, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const metricsHttp = require('@opentelemetry/exporter-metrics-otlp-http');
const metricsProto = require('@opentelemetry/exporter-metrics-otlp-proto');
const logsHttp = require('@opentelemetry/exporter-logs-otlp-http');
const logsProto = require('@opentelemetry/exporter-logs-otlp-proto');

const [base, encoding, temporality, suffix] = process.argv.slice(2);
const proto = encoding === 'proto';
const pref = temporality === 'delta' ? metricsHttp.AggregationTemporalityPreference.DELTA
                                     : metricsHttp.AggregationTemporalityPreference.CUMULATIVE;
let failed = false;

function checked(exporter) {  // an export that fails makes the run fail
  const exp = exporter.export.bind(exporter);
  exporter.export = (items, done) => exp(items, (r) => {
    if (r.code !== 0) {
      failed = true;
      console.error('export failed:', r.error && r.error.message);
    }
    done(r);
  });
  return exporter;
}

// `oneUrl`: every signal to that URL, as Gemini CLI's http exporters post
// them (the endpoint as configured); the receiver reads the signal from the body.
function providers(service, oneUrl) {
  const resource = resourceFromAttributes({ 'service.name': service });
  const M = proto ? metricsProto.OTLPMetricExporter : metricsHttp.OTLPMetricExporter;
  const L = proto ? logsProto.OTLPLogExporter : logsHttp.OTLPLogExporter;
  const metricExporter = checked(new M({ url: oneUrl || base + '/v1/metrics',
                                                temporalityPreference: pref }));
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter,
                                                     exportIntervalMillis: 3600000 });
  // Gemini CLI's latency histograms, aggregated as exponential histograms
  // (what an SDK configured for them sends).
  const views = [{ instrumentName: 'gemini_cli.api.request.latency',
                   aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }];
  const meters = new MeterProvider({ resource, readers: [reader], views });
  const logs = new LoggerProvider({
    resource,
    processors: [new SimpleLogRecordProcessor({ exporter: checked(new L({ url: oneUrl || base + '/v1/logs' })) })],
  });
  return { meters, logs };
}

async function claude() {
  const { meters, logs } = providers('claude-code');
  const session = 'sess-' + suffix;  // short: agent names keep 8 characters of it
  const tokens = meters.getMeter('com.anthropic.claude_code')
                     .createCounter('claude_code.token.usage', { unit: 'tokens' });
  const cost = meters.getMeter('com.anthropic.claude_code')
                   .createCounter('claude_code.cost.usage', { unit: 'USD' });
  const logger = logs.getLogger('com.anthropic.claude_code.events');
  const at = { 'session.id': session, model: 'claude-sonnet-4-5' };
  // Two exports: delta temporality sends each part once, cumulative the running total.
  tokens.add(100, { ...at, type: 'input' });
  cost.add(0.25, at);
  await meters.forceFlush();
  tokens.add(20, { ...at, type: 'input' });
  cost.add(0.125, at);
  await meters.forceFlush();
  for (const [i, input] of [[1, 100], [2, 20]]) {
    logger.emit({
      body: 'claude_code.api_request',
      attributes: { 'event.name': 'api_request', 'event.sequence': i, 'prompt.id': 'p-1',
                    'session.id': session, model: 'claude-sonnet-4-5', input_tokens: String(input),
                    output_tokens: '10', cache_read_tokens: '1000', cache_creation_tokens: '50',
                    cost_usd: i === 1 ? '0.25' : '0.125', request_id: 'req-' + suffix + '-' + i },
    });
  }
  logger.emit({ body: 'claude_code.tool_result',
                attributes: { 'event.name': 'tool_result', 'session.id': session,
                              tool_name: 'Read', success: 'true', duration_ms: '12' } });
  await logs.forceFlush();
  await meters.shutdown();
  await logs.shutdown();
}

async function codex() {
  const { meters, logs } = providers('codex-cli');
  const logger = logs.getLogger('codex_otel');
  logger.emit({
    body: 'codex.sse_event',
    attributes: { 'event.name': 'codex.sse_event', 'event.kind': 'response.completed',
                  'conversation.id': 'codex-' + suffix, model: 'gpt-5-codex',
                  input_token_count: 1000, cached_token_count: 600, output_token_count: 80,
                  reasoning_token_count: 30, tool_token_count: 1080 },
  });
  logger.emit({ body: 'codex.sse_event',
                attributes: { 'event.name': 'codex.sse_event', 'event.kind': 'response.created',
                              'conversation.id': 'codex-' + suffix } });
  await logs.forceFlush();
  await meters.shutdown();
  await logs.shutdown();
}

async function gemini() {
  // Gemini CLI's http protocol is OTLP JSON: in the JSON runs, both signals
  // go to the one URL a user gives it (here the logs path of the main port).
  const { meters, logs } = providers('gemini-cli', proto ? undefined : base + '/v1/logs');
  const session = 'gemini-' + suffix;
  const tokens = meters.getMeter('gemini-cli').createCounter('gemini_cli.token.usage');
  tokens.add(500, { 'session.id': session, model: 'gemini-2.5-pro', type: 'input' });
  const latency = meters.getMeter('gemini-cli')
                      .createHistogram('gemini_cli.api.request.latency', { unit: 'ms' });
  latency.record(900, { 'session.id': session, model: 'gemini-2.5-pro' });
  latency.record(3000, { 'session.id': session, model: 'gemini-2.5-pro' });
  await meters.forceFlush();
  latency.record(450, { 'session.id': session, model: 'gemini-2.5-pro' });
  await meters.forceFlush();
  const logger = logs.getLogger('gemini-cli');
  logger.emit({
    body: 'API response from gemini-2.5-pro.',
    attributes: { 'event.name': 'gemini_cli.api_response', 'session.id': session,
                  'agent.name': 'gemini-' + suffix, model: 'gemini-2.5-pro',
                  input_token_count: 500, cached_content_token_count: 200, output_token_count: 40,
                  thoughts_token_count: 60, tool_token_count: 0, total_token_count: 600,
                  duration_ms: 900 },
  });
  await logs.forceFlush();
  await meters.shutdown();
  await logs.shutdown();
}

(async () => {
  await claude();
  await codex();
  await gemini();
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
