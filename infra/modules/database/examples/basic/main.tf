module "database" {
  source = "../.."

  name            = "billpay-dev"
  vpc_id          = "vpc-0123456789abcdef0"
  subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  allowed_cidr    = "10.0.0.0/16"
  instance_class  = "db.t4g.micro"
  multi_az        = false
  alarm_topic_arn = "arn:aws:sns:us-east-1:111111111111:billpay-dev-alerts"
}
