// SPDX-License-Identifier: GPL-2.0
/* The smallest useful module: says hello when loaded, goodbye when removed. */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/utsname.h>

static int __init dkms_hello_init(void)
{
	pr_info("dkms-hello 1.0: hello from kernel %s\n", utsname()->release);
	return 0;
}

static void __exit dkms_hello_exit(void)
{
	pr_info("dkms-hello 1.0: goodbye\n");
}

module_init(dkms_hello_init);
module_exit(dkms_hello_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION("1.0");
MODULE_DESCRIPTION("dkms-ts example module");
