output "secret_arns" {
  description = "Secret name to ARN."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "kms_key_arn" {
  description = "The key that encrypts the secrets."
  value       = aws_kms_key.secrets.arn
}
