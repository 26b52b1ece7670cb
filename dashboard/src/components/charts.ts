// The uPlot charts, loaded on first use so the sign-in page and the lists never download them.
export { default as HealthChart } from './HealthChart.svelte';
export { default as MetricChart } from './MetricChart.svelte';
