import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';

/**
 * OpenTelemetry tracing (`TRACING=otlp`, off by default): the API's hand-overs to Temporal (start, signal, update…)
 * and every activity execution become spans, sent by OTLP/HTTP to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + /v1/traces; default http://localhost:4318/v1/traces). The trace context travels
 * in Temporal headers from the client to the workflow; workflow-side spans (and so one trace from a webhook to its
 * activities) would need the SDK's workflow interceptors bundled into the workflow code, which this project does not
 * do yet: activity spans are their own traces, named and tagged with the workflow they ran for.
 */
export interface Tracing {
  tracer: Tracer;
  clientInterceptor: WorkflowClientInterceptor;
  activityInterceptors: NonNullable<NonNullable<WorkerOptions['interceptors']>['activity']>;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function createTracing(opts: { serviceName: string; exporter?: SpanExporter; url?: string }): Tracing {
  const provider = new BasicTracerProvider({
    resource: new Resource({ 'service.name': opts.serviceName }),
    spanProcessors: [new BatchSpanProcessor(opts.exporter ?? new OTLPTraceExporter(opts.url ? { url: opts.url } : {}), { scheduledDelayMillis: 1_000 })],
  });
  const tracer = provider.getTracer('bitrix-pos-bridge');
  return {
    tracer,
    clientInterceptor: new OpenTelemetryWorkflowClientInterceptor({ tracer }),
    activityInterceptors: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Tracing as the environment asks for it: `TRACING=otlp`, or nothing. */
export function tracingFromEnv(env: { TRACING?: string }, serviceName: string): Tracing | undefined {
  return env.TRACING === 'otlp' ? createTracing({ serviceName }) : undefined;
}
