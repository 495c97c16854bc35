/** The Prometheus text builder lives in shared/ (the server's /metrics uses it too). */
export { type Labels, MetricsText } from '@aegis/shared/metrics/prometheus-text';
