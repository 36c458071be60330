export { startWorker, type JobWorker } from './app.ts';
