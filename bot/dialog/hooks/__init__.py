"""The dialog's hooks, one module per part of the bot; `bot.dialog.router` chains them."""
