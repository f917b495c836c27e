# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put a certificate from the controller's state directory into AWS: one file per target.

Four targets, one contract (``aws_certificate_deploy``): ``aws_acm`` (acm.py),
``aws_iam_elb`` (iam_elb.py), ``aws_alb`` (alb.py) and ``aws_secretsmanager``
(secretsmanager.py), on a common base (base.py); options.py checks the input,
certificate.py reads the files, deploy.py picks the target and runs it.

Private to the certfleet.acme collection: no compatibility promise (semver) covers it.
"""
