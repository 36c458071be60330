export { createGateway, type Gateway, type GatewayServer, type GatewaySocket } from './app.ts';
