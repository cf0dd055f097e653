resource "aws_lambda_function" "f" {
  image_uri = "127.0.0.1:9/a:1"
  tags = {
