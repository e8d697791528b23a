# syntax=docker/dockerfile:1
# A BillPay web app as a container (for running it outside S3/CloudFront, e.g. in a preview
# cluster). Build from the repository root:
#   docker build -f deploy/docker/frontend.Dockerfile -t billpay-frontend-a .
# Stage 1 builds the static files with Node; the runtime is an unprivileged nginx serving them.

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:1.29.3-alpine
COPY --from=build /web/dist /usr/share/nginx/html
USER 101
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
